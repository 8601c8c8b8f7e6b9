"""One module per page; each has ``routes(site) -> list[Route]``."""
