"""Readers that turn the medical sources a user has into training records."""
