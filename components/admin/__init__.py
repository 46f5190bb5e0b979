"""The admin studio's pieces (`/admin`): section frame, users, objects and their fields,
rules, views, layouts, permissions and metadata history. Metadata changes go through
`runtime.services().studio` (app/metadata/studio.py); users through app.auth.user_admin."""
