"""Running the user's graphs: loading them, executing runs, and the event bus behind streaming."""
