// Confluent Schema Registry's error model: an HTTP status and a JSON body
// {error_code, message}, where error_code is the status or the status with two
// more digits (40401 subject not found, 42201 invalid schema, ...). Codes and
// messages follow Confluent's io.confluent.kafka.schemaregistry Errors.

export class RegistryError extends Error {
  override readonly name = 'RegistryError';
  constructor(
    readonly status: number,
    readonly errorCode: number,
    message: string,
  ) {
    super(message);
  }

  body(): { error_code: number; message: string } {
    return { error_code: this.errorCode, message: this.message };
  }
}

export const subjectNotFound = (subject: string) => new RegistryError(404, 40401, `Subject '${subject}' not found.`);
export const versionNotFound = (version: number | string) => new RegistryError(404, 40402, `Version ${version} not found.`);
export const schemaNotFound = (id?: number) => new RegistryError(404, 40403, id === undefined ? 'Schema not found' : `Schema ${id} not found`);
export const subjectSoftDeleted = (subject: string) =>
  new RegistryError(404, 40404, `Subject '${subject}' was soft deleted. Set permanent=true to delete permanently`);
export const subjectNotSoftDeleted = (subject: string) =>
  new RegistryError(404, 40405, `Subject '${subject}' was not deleted first before being permanently deleted`);
export const versionSoftDeleted = (subject: string, version: number) =>
  new RegistryError(404, 40406, `Subject '${subject}' Version ${version} was soft deleted. Set permanent=true to delete permanently`);
export const versionNotSoftDeleted = (subject: string, version: number) =>
  new RegistryError(404, 40407, `Subject '${subject}' Version ${version} was not deleted first before being permanently deleted`);
export const compatibilityNotConfigured = (subject: string) =>
  new RegistryError(404, 40408, `Subject '${subject}' does not have subject-level compatibility configured`);
export const modeNotConfigured = (subject: string) => new RegistryError(404, 40409, `Subject '${subject}' does not have subject-level mode configured`);
export const incompatibleSchema = (message: string) => new RegistryError(409, 409, message);
export const invalidSchema = (message: string) => new RegistryError(422, 42201, message);
export const invalidVersion = (version: string) =>
  new RegistryError(422, 42202, `The specified version '${version}' is not a valid version id. Allowed values are between [1, 2^31-1] and the string "latest"`);
export const invalidCompatibilityLevel = (level: string) =>
  new RegistryError(422, 42203, `Invalid compatibility level. Valid values are none, backward, forward, full, backward_transitive, forward_transitive, and full_transitive (got ${JSON.stringify(level)})`);
export const invalidMode = (mode: string) =>
  new RegistryError(422, 42204, `Invalid mode. Valid values are READWRITE, READONLY, READONLY_OVERRIDE and IMPORT (got ${JSON.stringify(mode)})`);
export const operationNotPermitted = (message: string) => new RegistryError(422, 42205, message);
export const referenceExists = (message: string) => new RegistryError(422, 42206, message);
export const idDoesNotMatch = (message: string) => new RegistryError(422, 42207, message);
export const invalidSubject = (subject: string) => new RegistryError(422, 42208, `The specified subject '${subject}' is not valid.`);
export const storeError = (message: string) => new RegistryError(500, 50001, message);
