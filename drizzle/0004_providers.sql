ALTER TABLE "tasks" ADD COLUMN "provider" text;--> statement-breakpoint
ALTER TABLE "tasks" ADD COLUMN "provider_job" jsonb;--> statement-breakpoint
ALTER TABLE "tasks" ADD COLUMN "progress" integer;--> statement-breakpoint
ALTER TABLE "tasks" ADD COLUMN "queue_position" integer;--> statement-breakpoint
ALTER TABLE "tasks" ADD COLUMN "canceled" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "tasks" ADD COLUMN "result_sha256" text;--> statement-breakpoint
ALTER TABLE "tasks" ADD COLUMN "result_size" integer;