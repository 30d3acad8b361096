// Protobuf schemas (.proto text): parsed and resolved by protobufjs, with
// references as imports (the reference's name is the import path) and
// Google's well-known types built in. Compatibility follows Confluent's
// Protobuf rules: fields are matched by number; adding or removing optional
// fields is compatible, changing a field's kind, scalar type, named type,
// label or oneof membership, removing a message or enum constant, or changing
// the package is not.

import protobuf from 'protobufjs';
import { incompatibility, InvalidSchemaError, type ParsedSchema, type ResolvedReference, type SchemaFormat } from './format.js';

class ProtobufSchema implements ParsedSchema {
  readonly schemaType = 'PROTOBUF' as const;
  constructor(
    readonly text: string,
    readonly packageName: string,
    /** Messages and enums this file defines (not its imports'), by full name. */
    readonly types: ReadonlyMap<string, protobuf.Type | protobuf.Enum>,
  ) {}

  canonical(_normalize: boolean): string {
    return this.text;
  }
}

type CommonFiles = Record<string, { nested?: Record<string, protobuf.AnyNestedObject> } | undefined>;

function addWellKnownImports(root: protobuf.Root, imports: readonly string[] | undefined): void {
  const common = protobuf.common as unknown as CommonFiles;
  for (const imp of imports ?? []) {
    const file = common[imp];
    if (file?.nested !== undefined) root.addJSON(file.nested);
  }
}

function definedTypes(ns: protobuf.NamespaceBase, out: Map<string, protobuf.Type | protobuf.Enum>): Map<string, protobuf.Type | protobuf.Enum> {
  for (const n of ns.nestedArray) {
    if (n instanceof protobuf.Type || n instanceof protobuf.Enum) out.set(n.fullName, n);
    if (n instanceof protobuf.Namespace || n instanceof protobuf.Type) definedTypes(n, out);
  }
  return out;
}

export const PROTOBUF: SchemaFormat = {
  schemaType: 'PROTOBUF',

  parse(schema: string, references: readonly ResolvedReference[]): ParsedSchema {
    const text = schema.trim();
    try {
      // The file's own types, from a parse of it alone...
      const own = new protobuf.Root();
      const parsed = protobuf.parse(text, own, { keepCase: true });
      const ownNames = new Set(definedTypes(own, new Map()).keys());
      // ...resolved against its imports.
      const root = new protobuf.Root();
      for (const ref of references) addWellKnownImports(root, protobuf.parse(ref.schema, root, { keepCase: true }).imports);
      protobuf.parse(text, root, { keepCase: true });
      addWellKnownImports(root, parsed.imports);
      root.resolveAll();
      const types = new Map([...definedTypes(root, new Map())].filter(([name]) => ownNames.has(name)));
      if (types.size === 0) throw new InvalidSchemaError('Invalid schema: a Protobuf schema must define at least one message');
      return new ProtobufSchema(text, parsed.package ?? '', types);
    } catch (err) {
      if (err instanceof InvalidSchemaError) throw err;
      throw new InvalidSchemaError(`Invalid schema: ${(err as Error).message}`);
    }
  },

  readErrors(reader: ParsedSchema, writer: ParsedSchema): string[] {
    return protobufReadErrors(reader as ProtobufSchema, writer as ProtobufSchema);
  },
};

type FieldKind = 'scalar' | 'message' | 'enum' | 'map';

function kindOf(f: protobuf.Field): FieldKind {
  if (f.map) return 'map';
  if (f.resolvedType instanceof protobuf.Type) return 'message';
  if (f.resolvedType instanceof protobuf.Enum) return 'enum';
  return 'scalar';
}

const keyTypeOf = (f: protobuf.Field) => (f as unknown as { keyType?: string }).keyType;

function protobufReadErrors(reader: ProtobufSchema, writer: ProtobufSchema): string[] {
  const errors: string[] = [];
  const report = (type: string, description: string, path: string) => errors.push(incompatibility(type, description, path));
  if (reader.packageName !== writer.packageName) report('PACKAGE_CHANGED', `The package changed from '${writer.packageName}' to '${reader.packageName}'`, '#/');

  for (const [name, wt] of writer.types) {
    const rt = reader.types.get(name);
    const path = `#/${name.replace(/^\./, '')}`;
    if (rt === undefined || rt.constructor !== wt.constructor) {
      report(wt instanceof protobuf.Enum ? 'ENUM_REMOVED' : 'MESSAGE_REMOVED', `'${name}' is gone from the new schema`, path);
      continue;
    }
    if (wt instanceof protobuf.Enum && rt instanceof protobuf.Enum) {
      for (const [constant, number] of Object.entries(wt.values)) {
        const now = rt.values[constant];
        if (now === undefined) {
          if (Object.values(rt.values).includes(number)) continue; // renamed: the number is what goes on the wire
          report('ENUM_CONST_REMOVED', `Enum constant '${constant}' (${number}) was removed`, `${path}/${constant}`);
        } else if (now !== number) report('ENUM_CONST_CHANGED', `Enum constant '${constant}' changed from ${number} to ${now}`, `${path}/${constant}`);
      }
      continue;
    }
    const wm = wt as protobuf.Type;
    const rm = rt as protobuf.Type;
    const readerById = new Map(rm.fieldsArray.map((f) => [f.id, f]));
    const writerById = new Map(wm.fieldsArray.map((f) => [f.id, f]));
    const movedIntoOneof = new Map<string, number>();
    for (const wf of wm.fieldsArray) {
      const fpath = `${path}/${wf.id}`;
      const rf = readerById.get(wf.id);
      if (rf === undefined) {
        if (wf.rule === 'required') report('REQUIRED_FIELD_REMOVED', `Required field '${wf.name}' (${wf.id}) was removed`, fpath);
        else if (wf.partOf !== null && rm.oneofs?.[wf.partOf.name] !== undefined) report('ONEOF_FIELD_REMOVED', `Field '${wf.name}' (${wf.id}) was removed from oneof '${wf.partOf.name}'`, fpath);
        continue;
      }
      const wk = kindOf(wf);
      const rk = kindOf(rf);
      if (wk !== rk) report('FIELD_KIND_CHANGED', `Field ${wf.id} changed from a ${wk} to a ${rk}`, fpath);
      else if (wk === 'scalar' && wf.type !== rf.type) report('FIELD_SCALAR_KIND_CHANGED', `Field ${wf.id} changed from ${wf.type} to ${rf.type}`, fpath);
      else if ((wk === 'message' || wk === 'enum') && wf.resolvedType?.fullName !== rf.resolvedType?.fullName) {
        report('FIELD_NAMED_TYPE_CHANGED', `Field ${wf.id} changed from ${wf.resolvedType?.fullName} to ${rf.resolvedType?.fullName}`, fpath);
      } else if (wk === 'map' && (keyTypeOf(wf) !== keyTypeOf(rf) || wf.type !== rf.type)) {
        report('FIELD_KIND_CHANGED', `Map field ${wf.id} changed its key or value type`, fpath);
      }
      if ((wf.rule === 'repeated') !== (rf.rule === 'repeated')) report('FIELD_LABEL_CHANGED', `Field ${wf.id} changed between repeated and singular`, fpath);
      if (rf.rule === 'required' && wf.rule !== 'required') report('REQUIRED_FIELD_ADDED', `Field ${wf.id} became required`, fpath);
      if (wf.rule === 'required' && rf.rule !== 'required') report('REQUIRED_FIELD_REMOVED', `Field ${wf.id} is no longer required`, fpath);
      const wOneof = wf.partOf?.name ?? null;
      const rOneof = rf.partOf?.name ?? null;
      if (rOneof !== null && wOneof === null) {
        // Moving into a oneof is safe for one field into a new oneof; not when old fields share it.
        const existed = wm.oneofs?.[rOneof] !== undefined;
        if (existed) report('FIELD_MOVED_TO_EXISTING_ONEOF', `Field ${wf.id} moved into existing oneof '${rOneof}'`, fpath);
        else movedIntoOneof.set(rOneof, (movedIntoOneof.get(rOneof) ?? 0) + 1);
      } else if (wOneof !== null && rOneof === null) {
        report('ONEOF_FIELD_REMOVED', `Field ${wf.id} left oneof '${wOneof}'`, fpath);
      }
    }
    for (const [oneof, count] of movedIntoOneof) {
      if (count > 1) report('MULTIPLE_FIELDS_MOVED_TO_ONEOF', `${count} existing fields moved into oneof '${oneof}'`, `${path}/${oneof}`);
    }
    for (const rf of rm.fieldsArray) {
      if (!writerById.has(rf.id) && rf.rule === 'required') report('REQUIRED_FIELD_ADDED', `Required field '${rf.name}' (${rf.id}) was added`, `${path}/${rf.id}`);
    }
  }
  return errors;
}
