-- A neutralized copy of the database (a test copy of production) never talks to the real
-- e-signature services: external providers are disabled and their credentials removed.
UPDATE digital_sign_provider
   SET state = 'disabled',
       getaccept_api_token = NULL, getaccept_email = NULL, getaccept_password = NULL,
       getaccept_entity_id = NULL, docusign_integration_key = NULL, docusign_user_id = NULL,
       docusign_account_id = NULL, docusign_private_key = NULL, webhook_secret = NULL,
       webhook_secret_previous = NULL
 WHERE code != 'portal';
