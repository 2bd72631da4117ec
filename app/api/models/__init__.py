"""Pydantic views of the API's HTTP responses (the `response_model` of every route)."""
