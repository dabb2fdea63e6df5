-- Issue 15: every instance keeps hot reads (sessions, task views, histories) in memory and forgets them when the
-- database says they changed. The triggers below send that word on channel aigc_cache with the commit, whatever
-- made the change (the API, a runner, the review CLI, retention, a cascade, an operator's SQL):
--   t:<task id>:<user id>   a task was inserted or deleted, or a column the poll or the history shows changed
--   s:<session id>          a session was deleted, or its expiry or user changed (last_used_at touches are silent)
CREATE FUNCTION aigc_cache_task_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    PERFORM pg_notify('aigc_cache', 't:' || OLD.id || ':' || OLD.user_id);
    RETURN OLD;
  END IF;
  PERFORM pg_notify('aigc_cache', 't:' || NEW.id || ':' || NEW.user_id);
  RETURN NEW;
END $$;--> statement-breakpoint
CREATE TRIGGER tasks_cache_insert_delete AFTER INSERT OR DELETE ON tasks FOR EACH ROW EXECUTE FUNCTION aigc_cache_task_changed();--> statement-breakpoint
CREATE TRIGGER tasks_cache_update AFTER UPDATE ON tasks FOR EACH ROW
  WHEN ((OLD.status, OLD.result_url, OLD.completed_at, OLD.error, OLD.progress, OLD.queue_position, OLD.canceled,
         OLD.review_status, OLD.review_message, OLD.hidden, OLD.user_id, OLD.type, OLD.prompt, OLD.parameters, OLD.created_at)
        IS DISTINCT FROM
        (NEW.status, NEW.result_url, NEW.completed_at, NEW.error, NEW.progress, NEW.queue_position, NEW.canceled,
         NEW.review_status, NEW.review_message, NEW.hidden, NEW.user_id, NEW.type, NEW.prompt, NEW.parameters, NEW.created_at))
  EXECUTE FUNCTION aigc_cache_task_changed();--> statement-breakpoint
CREATE FUNCTION aigc_cache_session_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('aigc_cache', 's:' || OLD.id);
  RETURN NULL;
END $$;--> statement-breakpoint
CREATE TRIGGER sessions_cache_delete AFTER DELETE ON sessions FOR EACH ROW EXECUTE FUNCTION aigc_cache_session_changed();--> statement-breakpoint
CREATE TRIGGER sessions_cache_update AFTER UPDATE ON sessions FOR EACH ROW
  WHEN ((OLD.expires_at, OLD.user_id) IS DISTINCT FROM (NEW.expires_at, NEW.user_id))
  EXECUTE FUNCTION aigc_cache_session_changed();
