-- Local cache, version 4: the customer's latest choice about marketing messages (JSON
-- {choice, at}, as the relay's contact snapshot carries it; NULL until they made one). Caches
-- upgraded from version 3 learn it with the next snapshot of that customer.
ALTER TABLE contacts ADD COLUMN marketing TEXT;
