"""Session results: the session folder, results.json schema, results.txt, the database, comparison, CI outputs, reports."""
