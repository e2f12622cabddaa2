-- 3: documents by scope in log order (Puskesmas incremental export).
CREATE INDEX doc_scope_seq ON doc(scope, updated_seq);
