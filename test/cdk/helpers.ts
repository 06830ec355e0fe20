import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Validations, type Stack } from 'aws-cdk-lib';
import type { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { PROJECT_ROOT } from '../../lib/paths';

export interface CfnResource {
  Type: string;
  Properties?: Record<string, any>;
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
  Metadata?: Record<string, any>;
}

export interface PolicyStatementJson {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
}

/** The `context` block of cdk.json, so tests synthesize with the same feature flags as `cdk synth`. */
export function cdkJsonContext(): Record<string, any> {
  const cdkJson = JSON.parse(readFileSync(join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, any> };
  return cdkJson.context;
}

/**
 * An app with cdk.json's flags and, like the CDK CLI, construct paths in the template metadata;
 * `bundle: false` skips esbuild (assets become placeholders).
 */
export function testApp(options: { bundle: boolean; outdir?: string }): App {
  return new App({
    outdir: options.outdir,
    context: {
      ...cdkJsonContext(),
      'aws:cdk:enable-path-metadata': true,
      'aws:cdk:enable-asset-metadata': true,
      ...(options.bundle ? {} : { 'aws:cdk:bundling-stacks': [] }),
    },
  });
}

/** Flattens a CloudFormation value the way cdk-nag does: `{Ref: X}` → `<X>`, joins concatenated. */
export function flatten(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value !== null && typeof value === 'object') {
    const node = value as Record<string, unknown>;
    const join = node['Fn::Join'];
    if (Array.isArray(join)) return (join[1] as unknown[]).map(flatten).join(join[0] as string);
    if (typeof node.Ref === 'string') return `<${node.Ref}>`;
    const getAtt = node['Fn::GetAtt'];
    if (Array.isArray(getAtt)) return `<${getAtt.join('.')}>`;
  }
  return JSON.stringify(value);
}

export function asArray<T>(value: T | T[] | undefined): T[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

export function resources(template: Template, type: string): Record<string, CfnResource> {
  return template.findResources(type) as Record<string, CfnResource>;
}

/** Logical id of the one resource of `type` whose construct path ends with `pathSuffix`. */
export function logicalIdByPath(template: Template, type: string, pathSuffix: string): string {
  const matches = Object.entries(resources(template, type)).filter(([, r]) =>
    String(r.Metadata?.['aws:cdk:path'] ?? '').endsWith(pathSuffix),
  );
  if (matches.length !== 1) throw new Error(`expected one ${type} at …${pathSuffix}, found ${matches.length}`);
  return matches[0]![0];
}

export function resourceByPath(template: Template, type: string, pathSuffix: string): CfnResource {
  const id = logicalIdByPath(template, type, pathSuffix);
  return resources(template, type)[id]!;
}

/** Every statement of the role's inline policies and of the AWS::IAM::Policy resources attached to it. */
export function roleStatements(template: Template, roleLogicalId: string): PolicyStatementJson[] {
  const role = resources(template, 'AWS::IAM::Role')[roleLogicalId];
  if (role === undefined) throw new Error(`no role ${roleLogicalId}`);
  const inline = asArray(role.Properties?.Policies as { PolicyDocument: { Statement: PolicyStatementJson[] } }[]).flatMap(
    (policy) => policy.PolicyDocument.Statement,
  );
  const attached = Object.values(resources(template, 'AWS::IAM::Policy'))
    .filter((policy) => asArray(policy.Properties?.Roles).some((ref: any) => ref?.Ref === roleLogicalId))
    .flatMap((policy) => policy.Properties!.PolicyDocument.Statement as PolicyStatementJson[]);
  return [...inline, ...attached];
}

/** Every acknowledgement (`Validations.of(x).acknowledge`) recorded in the stack: path, id, reason. */
export function acknowledgements(stack: Stack): { path: string; id: string; reason: string }[] {
  const found: { path: string; id: string; reason: string }[] = [];
  for (const node of stack.node.findAll() as IConstruct[]) {
    for (const entry of node.node.metadata) {
      if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
      for (const [id, reason] of Object.entries(entry.data as Record<string, string>)) {
        found.push({ path: node.node.path, id: id.replace(/^annotation::/i, ''), reason });
      }
    }
  }
  return found;
}
