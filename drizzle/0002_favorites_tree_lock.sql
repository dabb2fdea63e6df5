ALTER TABLE "favorites" DROP CONSTRAINT "favorites_parent_id_favorites_id_fk";
