-- Leases: a claimed run names its worker and how long that worker counts as alive. A worker that
-- stops renewing (killed, hung, cut off) loses its runs to whichever replica sees the lease end.
ALTER TABLE runs ADD COLUMN attempt integer NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN worker_id text;
ALTER TABLE runs ADD COLUMN lease_expires_at timestamptz;
-- Renewal finds a worker's runs, expiry the oldest leases: only running runs are in either.
CREATE INDEX runs_worker ON runs (worker_id) WHERE status = 'running';
CREATE INDEX runs_lease ON runs (lease_expires_at) WHERE status = 'running';
