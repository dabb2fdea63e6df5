/** The four kinds of generation task (DECISIONS §5): one list for schemas, routing and providers. */
export const TASK_TYPES = ['t2i', 'i2i', 't2v', 'i2v'] as const;
export type TaskType = (typeof TASK_TYPES)[number];

export const isTaskType = (v: unknown): v is TaskType => TASK_TYPES.includes(v as TaskType);
/** t2v and i2v produce videos; t2i and i2i images. */
export const isVideoType = (t: TaskType) => t === 't2v' || t === 'i2v';
/** i2i and i2v need at least one reference image. */
export const needsReference = (t: TaskType) => t === 'i2i' || t === 'i2v';
