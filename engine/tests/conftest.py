"""Shared pytest fixtures for the engine suite (no Odoo, no database)."""
