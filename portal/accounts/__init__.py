"""Companies, users, roles, invitations, login sessions and the leader's second factor."""
