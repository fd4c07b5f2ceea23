/**
 * The bytes a user takes on the object store, from its metadata alone: the
 * sizes of the user's file names (content shared by several counted once
 * per name), their uploads' completed parts and their uploads' tails (the
 * unfinished part an interrupted upload keeps), as the local backend counts
 * partial files beside finished ones.
 *
 * @module
 */

import type { Sql, TransactionSql } from "./database.ts";

/** `user`'s usage in bytes, read on `sql` (a transaction's, to read it at one moment). */
export async function usageIn(sql: Sql | TransactionSql, user: string): Promise<number> {
  const [row] = await sql<{ total: number }[]>`
    SELECT (SELECT coalesce(sum(size), 0) FROM entries
            WHERE user_name = ${user} AND kind = 'file')
         + (SELECT coalesce(sum(p.size), 0) FROM upload_parts p
            JOIN uploads u ON u.id = p.upload_id WHERE u.user_name = ${user})
         + (SELECT coalesce(sum(o.size), 0) FROM uploads u
            JOIN objects o ON o.id = u.tail_object_id WHERE u.user_name = ${user})
         AS total`;
  return Number(row.total);
}
