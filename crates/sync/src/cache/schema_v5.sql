-- Local cache, version 5: the name the business saved for the customer in the WhatsApp Business
-- app (Coexistence contact sync), as the relay's contact snapshot carries it. Caches upgraded
-- from version 4 learn it with the next snapshot of that customer.
ALTER TABLE contacts ADD COLUMN app_name TEXT;
