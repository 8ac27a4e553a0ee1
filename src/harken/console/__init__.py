"""The business's console (`/console`): an org's staff sign in by magic link and read — or, as admins,
change — that org's catalogue, customers and integrations, through the same services the org API uses."""
