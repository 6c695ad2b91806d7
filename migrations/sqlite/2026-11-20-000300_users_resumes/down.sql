DROP TABLE resume_custom_sections;
DROP TABLE resume_educations;
DROP TABLE resume_projects;
DROP TABLE resume_work_experiences;
DROP TABLE resumes;
