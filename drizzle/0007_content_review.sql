CREATE TABLE "moderation_verdicts" (
	"id" serial PRIMARY KEY NOT NULL,
	"task_id" text,
	"user_id" integer NOT NULL,
	"stage" text NOT NULL,
	"provider" text NOT NULL,
	"decision" text NOT NULL,
	"categories" jsonb NOT NULL,
	"scores" jsonb NOT NULL,
	"matched" jsonb,
	"unavailable" boolean DEFAULT false NOT NULL,
	"subject" text NOT NULL,
	"message" text,
	"created_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "tasks" ADD COLUMN "review_status" text DEFAULT 'approved' NOT NULL;--> statement-breakpoint
ALTER TABLE "tasks" ADD COLUMN "review_message" text;--> statement-breakpoint
ALTER TABLE "tasks" ADD COLUMN "review_required" boolean DEFAULT false NOT NULL;--> statement-breakpoint
CREATE INDEX "moderation_verdicts_task_idx" ON "moderation_verdicts" USING btree ("task_id");--> statement-breakpoint
CREATE INDEX "moderation_verdicts_created_idx" ON "moderation_verdicts" USING btree ("created_at");--> statement-breakpoint
ALTER TABLE "tasks" ADD CONSTRAINT "tasks_review_status_check" CHECK ("tasks"."review_status" in ('pending', 'approved', 'rejected'));