"""The GraphQL API (strawberry on starlette). Installed as ``directory_schema``."""
