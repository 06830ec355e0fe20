import type { RemovalPolicy } from 'aws-cdk-lib';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { acknowledge } from './nag';

export interface HooklineSealingKeyProps {
  /** The secret is named `<secretPrefix>sealing-key`. */
  readonly secretPrefix: string;
  /** Follows the tables: deleting the key would make every sealed secret on them unreadable. */
  readonly removalPolicy: RemovalPolicy;
}

/** What follows the prefix in the secret's name. */
export const SEALING_KEY_SECRET_SUFFIX = 'sealing-key';

/**
 * The deployment's one Secrets Manager secret: a key ring `{"current": "1", "1": "<64 hex>"}` whose
 * keys seal every subscription's signing secret and every inbound source's credentials
 * (AES-256-GCM, lambdas/core/sealed-secrets.ts). CloudFormation generates key 1: 64 characters
 * from 0-9a-f, 256 random bits. Rotating it adds a numbered key and makes it current (README,
 * "Rotating the key-encryption key"); old numbers stay readable until `hookline secrets rekey` has
 * moved every subscription to the new one.
 */
export class HooklineSealingKey extends Construct {
  readonly secret: Secret;

  constructor(scope: Construct, id: string, props: HooklineSealingKeyProps) {
    super(scope, id);
    this.secret = new Secret(this, 'Secret', {
      secretName: `${props.secretPrefix}${SEALING_KEY_SECRET_SUFFIX}`,
      description: 'Hookline key ring: seals every signing secret and inbound credential (AES-256-GCM)',
      generateSecretString: {
        secretStringTemplate: JSON.stringify({ current: '1' }),
        generateStringKey: '1',
        passwordLength: 64,
        // What is left is 0-9 and a-f: a 64-digit hex key.
        excludeUppercase: true,
        excludePunctuation: true,
        includeSpace: false,
        excludeCharacters: 'ghijklmnopqrstuvwxyz',
        requireEachIncludedType: false,
      },
      removalPolicy: props.removalPolicy,
    });
    acknowledge(
      this.secret,
      'AwsSolutions-SMG4',
      'A key-encryption key ring, rotated by hand rather than by a rotation Lambda: a rotation must add a key version ' +
        'while keeping the old ones (sealed values name them) and be followed by `hookline secrets rekey`; the README ' +
        'documents the procedure. Only the API and dispatcher roles may read it.',
    );
  }
}
