"""HTTP routes served next to the NiceGUI pages (FastAPI)."""
