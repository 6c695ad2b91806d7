DROP TABLE ai_daily_stats;
DROP TABLE ai_requests;
DROP TABLE ai_templates;
DROP TABLE ai_messages;
DROP TABLE ai_conversations;
DROP TABLE ai_models;
