-- cometchat_webhooks 1.4 -> 1.5
\echo Use "ALTER EXTENSION cometchat_webhooks UPDATE TO '1.5'" to load this file. \quit
