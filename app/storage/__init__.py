"""Storage: engines, generated object tables, system tables and schema sync."""
