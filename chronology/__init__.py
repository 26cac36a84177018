"""The case chronology: one timeline of everything that happened to a case.

Built on request from the records that already exist (case events, RAG changes, engagement,
needs and their history in the access log, actions and their status changes, notes, meeting
items and their outcomes, documents), never stored twice. Each entry carries the ISA category
its content belongs to and is shown only where the viewer may read that category on the
case's panel; the text of an entry is decrypted through sharing.gateway.reveal.
"""
