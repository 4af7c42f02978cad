-- Leases: a claimed run names its worker and how long that worker counts as alive. A worker that
-- stops renewing (killed, hung) loses its runs to the next process that sees the lease end.
ALTER TABLE runs ADD COLUMN attempt INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN worker_id TEXT;
ALTER TABLE runs ADD COLUMN lease_expires_at TEXT;
CREATE INDEX runs_worker ON runs (worker_id) WHERE status = 'running';
CREATE INDEX runs_lease ON runs (lease_expires_at) WHERE status = 'running';
