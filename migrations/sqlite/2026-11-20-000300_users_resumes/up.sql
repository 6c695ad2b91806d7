-- Résumés (the forum's 简历): one basic part per user, and four kinds of entries under it.
-- Deleting a user deletes the résumé; deleting a résumé deletes its entries.
CREATE TABLE resumes (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    full_name VARCHAR(100) NOT NULL DEFAULT '',
    headline VARCHAR(200) NOT NULL DEFAULT '',
    summary TEXT NOT NULL DEFAULT '',
    phone VARCHAR(32) NOT NULL DEFAULT '',
    email VARCHAR(254) NOT NULL DEFAULT '',
    location VARCHAR(100) NOT NULL DEFAULT '',
    website VARCHAR(200) NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX uq_resumes_user ON resumes (user_id);

CREATE TABLE resume_work_experiences (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    resume_id BIGINT NOT NULL REFERENCES resumes (id) ON DELETE CASCADE,
    company VARCHAR(200) NOT NULL,
    position VARCHAR(200) NOT NULL,
    start_date DATE NOT NULL,
    end_date DATE NULL,
    description TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX idx_resume_work_resume ON resume_work_experiences (resume_id, start_date);

CREATE TABLE resume_projects (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    resume_id BIGINT NOT NULL REFERENCES resumes (id) ON DELETE CASCADE,
    name VARCHAR(200) NOT NULL,
    role VARCHAR(100) NOT NULL DEFAULT '',
    start_date DATE NOT NULL,
    end_date DATE NULL,
    url VARCHAR(200) NULL,
    description TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX idx_resume_projects_resume ON resume_projects (resume_id, start_date);

CREATE TABLE resume_educations (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    resume_id BIGINT NOT NULL REFERENCES resumes (id) ON DELETE CASCADE,
    school VARCHAR(200) NOT NULL,
    degree VARCHAR(100) NOT NULL DEFAULT '',
    major VARCHAR(100) NOT NULL DEFAULT '',
    start_date DATE NOT NULL,
    end_date DATE NULL,
    description TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX idx_resume_educations_resume ON resume_educations (resume_id, start_date);

CREATE TABLE resume_custom_sections (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    resume_id BIGINT NOT NULL REFERENCES resumes (id) ON DELETE CASCADE,
    title VARCHAR(200) NOT NULL,
    content TEXT NOT NULL DEFAULT '',
    sort_order INTEGER NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX idx_resume_custom_resume ON resume_custom_sections (resume_id, sort_order);
