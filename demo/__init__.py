"""The demo partnership and its synthetic data (`flask demo load`, `make run`)."""
