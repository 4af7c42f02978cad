"""The column lists both SQL backends select and insert, in the order their row mappers read, and the
SQL expressions they share."""

SNAPSHOT = "graph_id, config, context, metadata, name, description"
ASSISTANT = f"assistant_id, {SNAPSHOT}, version, created_at, updated_at"
VERSION = f"assistant_id, {SNAPSHOT}, version, created_at, change, changed_by, restored_from"
THREAD = 'thread_id, created_at, updated_at, metadata, status, "values", interrupts'
RUN = (
    "run_id, thread_id, assistant_id, created_at, updated_at, status, metadata, multitask_strategy, "
    "kwargs, pinned_version, assistant_version, error, temporary, not_before, attempt"
)
RUN_COUNT = 15
CRON = (
    "cron_id, assistant_id, thread_id, schedule, timezone, end_time, enabled, on_run_completed, "
    "payload, metadata, next_run_date, created_at, updated_at, user_id"
)

# The version a run executes, set by the claim that starts it (one statement on both backends): the
# version it was pinned to, else the one an earlier attempt ran (a retry resumes that attempt's
# checkpoints), else the assistant's active one. NULL if the assistant was deleted while the run
# waited; the executor then fails the run. `{pinned}`, `{earlier}`: the run's pinned_version and
# assistant_version (columns, or the parameters of a run inserted already claimed);
# `{run_assistant}`: the run's assistant_id as the backend's assistants.assistant_id compares with it.
VERSION_AT_CLAIM = (
    "COALESCE({pinned}, {earlier},"
    " (SELECT a.version FROM assistants a WHERE a.assistant_id = {run_assistant}))"
)


def qualified(prefix: str, columns: str) -> str:
    """`columns` (one of the lists above) each prefixed with a table's alias: qualified("r.", RUN)."""
    return ", ".join(f"{prefix}{column.strip()}" for column in columns.split(","))
