/** The job errors are the job queue's vocabulary; they live beside its port (coordination/jobs/). */
export { JobError, PermanentJobError, TransientJobError, JobTimeoutError, JobCanceledError, isPermanent, describeJobError } from '../coordination/jobs/errors.js';
