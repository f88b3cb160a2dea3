import { describe, expect, it } from "vitest";
import { parseServiceAccountKey } from "./service-account-key.js";

describe("parseServiceAccountKey", () => {
  it("keeps the two fields signing needs", () => {
    const key = {
      type: "service_account",
      client_email: "api@p.iam.gserviceaccount.com",
      private_key: "-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----\n",
    };
    expect(parseServiceAccountKey(JSON.stringify(key), "GCS_SIGNING_KEY_FILE")).toEqual({
      client_email: key.client_email,
      private_key: key.private_key,
    });
  });

  it.each(["not json", "{}", '{"client_email":"a","private_key":"b"}'])("names the source when given %j", (text) => {
    expect(() => parseServiceAccountKey(text, "GCS_SIGNING_KEY_FILE")).toThrow(/^GCS_SIGNING_KEY_FILE: /);
  });
});
