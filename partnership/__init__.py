"""The partnership file: its declared shape (`schema`), loading it (`loading`) and `flask partnership load`."""
