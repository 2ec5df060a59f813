"""People who sign in: staff, editors, admins and auditors, each with a role and a tenant."""
