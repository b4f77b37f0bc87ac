"""Partnerships (issue 15): applications answering shortlisted calls, the partner directory,
partner import from CSV and internal-deadline reminders. Pure functions on a session: the
command line (`fundradar application`, `fundradar partner`) and the web pages call them and
commit.

- `applications`: create_from_call, move (stage workflow), update, add/remove_partner,
  archive_for_deleted_calls (and the session hook that runs it).
- `organisations`: fold_name, acronym_of, find_or_create, duplicate_candidates, merge,
  seed_from_calls, profile.
- `partner_import`: import_csv (line numbers and reasons for bad rows).
- `reminders`: upcoming_internal_deadlines (the digest's reminders).
"""
