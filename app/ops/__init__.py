"""Operations: first-admin bootstrap for containers, backup and restore."""
