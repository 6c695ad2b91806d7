-- Résumés (the forum's 简历): one basic part per user, and four kinds of entries under it.
-- Deleting a user deletes the résumé; deleting a résumé deletes its entries.
CREATE TABLE resumes (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    user_id BIGINT NOT NULL,
    full_name VARCHAR(100) NOT NULL DEFAULT '',
    headline VARCHAR(200) NOT NULL DEFAULT '',
    summary TEXT NOT NULL,
    phone VARCHAR(32) NOT NULL DEFAULT '',
    email VARCHAR(254) NOT NULL DEFAULT '',
    location VARCHAR(100) NOT NULL DEFAULT '',
    website VARCHAR(200) NOT NULL DEFAULT '',
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL,
    UNIQUE KEY user_id (user_id),
    CONSTRAINT fk_resumes_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE resume_work_experiences (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    resume_id BIGINT NOT NULL,
    company VARCHAR(200) NOT NULL,
    position VARCHAR(200) NOT NULL,
    start_date DATE NOT NULL,
    end_date DATE NULL,
    description TEXT NOT NULL,
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL,
    KEY idx_resume_work_resume (resume_id, start_date),
    CONSTRAINT fk_resume_work_resume FOREIGN KEY (resume_id) REFERENCES resumes (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE resume_projects (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    resume_id BIGINT NOT NULL,
    name VARCHAR(200) NOT NULL,
    role VARCHAR(100) NOT NULL DEFAULT '',
    start_date DATE NOT NULL,
    end_date DATE NULL,
    url VARCHAR(200) NULL,
    description TEXT NOT NULL,
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL,
    KEY idx_resume_projects_resume (resume_id, start_date),
    CONSTRAINT fk_resume_projects_resume FOREIGN KEY (resume_id) REFERENCES resumes (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE resume_educations (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    resume_id BIGINT NOT NULL,
    school VARCHAR(200) NOT NULL,
    degree VARCHAR(100) NOT NULL DEFAULT '',
    major VARCHAR(100) NOT NULL DEFAULT '',
    start_date DATE NOT NULL,
    end_date DATE NULL,
    description TEXT NOT NULL,
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL,
    KEY idx_resume_educations_resume (resume_id, start_date),
    CONSTRAINT fk_resume_educations_resume FOREIGN KEY (resume_id) REFERENCES resumes (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE resume_custom_sections (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    resume_id BIGINT NOT NULL,
    title VARCHAR(200) NOT NULL,
    content TEXT NOT NULL,
    sort_order INT NOT NULL DEFAULT 0,
    created_at DATETIME(6) NOT NULL,
    updated_at DATETIME(6) NOT NULL,
    KEY idx_resume_custom_resume (resume_id, sort_order),
    CONSTRAINT fk_resume_custom_resume FOREIGN KEY (resume_id) REFERENCES resumes (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
