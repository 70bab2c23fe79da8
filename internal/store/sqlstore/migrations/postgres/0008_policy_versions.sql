-- Every change of a group's policy is a version, kept for as long as the
-- group: history is append-only (a rollback writes the old policy again as
-- a new version). host_groups.policy_version is the version its policy is.
CREATE TABLE policy_versions (
    group_name TEXT COLLATE "C" NOT NULL,
    version    BIGINT NOT NULL,
    policy     BYTEA,
    author     TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL,
    comment    TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (group_name, version)
);
ALTER TABLE host_groups ADD COLUMN policy_version BIGINT NOT NULL DEFAULT 0;
-- A group's policy from before versions is its version 1.
INSERT INTO policy_versions (group_name, version, policy, author, created_at, comment)
    SELECT name, 1, policy, '', updated_at, 'the policy when versions began' FROM host_groups;
UPDATE host_groups SET policy_version = 1;
-- Which policy version judged a verdict, and the verdict's status (a host's
-- status may since be Unreachable); 0 and '' for verdicts recorded before.
ALTER TABLE latest_evidence ADD COLUMN policy_version BIGINT NOT NULL DEFAULT 0;
ALTER TABLE latest_evidence ADD COLUMN status TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE status_changes ADD COLUMN policy_version BIGINT NOT NULL DEFAULT 0;
