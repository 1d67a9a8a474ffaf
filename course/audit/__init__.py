"""The audit log: an append-only record of every security- or grade-relevant action (`record`), and reading it
back (`queries`). Entries hold ids, roles, counts and dates — never names, emails or free text — so that
deleting an account leaves no personal data in them (docs/SECURITY.md, "Retention")."""
