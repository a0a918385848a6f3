-- Replicas sharing one database (issue 17's first step): each running service heartbeats
-- its row, and work that one replica at a time must do is held by a lease with an expiry.
-- Both are judged by the database's clock (now()), never a pod's, so replicas with skewed
-- clocks agree on who is alive and who holds what.
CREATE TABLE replica (
  id            text PRIMARY KEY,
  host          text NOT NULL,
  pid           integer NOT NULL,
  started_at    timestamptz NOT NULL DEFAULT now(),
  heartbeat_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE work_lease (
  name        text PRIMARY KEY,
  holder      text NOT NULL,
  expires_at  timestamptz NOT NULL
);
