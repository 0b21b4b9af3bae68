"""The kernel: what every app shares and none owns (job rows and their runner, audit attribution, roles, bulk COPY,
SQL migration helpers, enqueueing). It imports no app; every app may import it."""
