"""Cross-panel people search: names (fuzzy, with nicknames), aliases and identifiers across
every panel where the viewer may read identity, results grouped by person.

Search terms are personal data: the form is POSTed (never in a URL or an access log line),
and the access log records the search and the people it showed, not what was typed.
"""
