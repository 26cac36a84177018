"""The duplicates feature: record linkage (matching/), blocking keys (keys), candidate pairs
and their queue (candidates), merges (merging), people on several panels (overlaps), with
its pages (routes), API (api), CLI (cli) and nightly job (jobs)."""
