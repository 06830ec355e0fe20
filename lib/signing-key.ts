import type { RemovalPolicy } from 'aws-cdk-lib';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { acknowledge } from './nag';

export interface HooklineSigningKeyProps {
  /** The secret is named `<secretPrefix>signing-key`. */
  readonly secretPrefix: string;
  /** Follows the subscriptions table: deleting the key would make every sealed secret unreadable. */
  readonly removalPolicy: RemovalPolicy;
}

/**
 * The deployment's one Secrets Manager secret: a key ring `{"current": "1", "1": "<64 hex>"}` whose
 * keys seal every subscription's signing secret (AES-256-GCM, lambdas/core/sealed-secrets.ts).
 * CloudFormation generates key 1: 64 characters from 0-9a-f, i.e. 256 random bits. A rotation adds
 * a numbered key and makes it current (README, "Rotating the signing key"); old numbers stay
 * readable until `hookline secrets rekey` has moved every subscription to the new one.
 */
export class HooklineSigningKey extends Construct {
  readonly secret: Secret;

  constructor(scope: Construct, id: string, props: HooklineSigningKeyProps) {
    super(scope, id);
    this.secret = new Secret(this, 'Secret', {
      secretName: `${props.secretPrefix}signing-key`,
      description: 'Hookline key ring: every subscription signing secret is sealed with it (AES-256-GCM)',
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
      'The key ring is rotated by hand, not by a rotation Lambda: a rotation must add a key version while ' +
        'keeping the old ones (sealed secrets still name them) and be followed by `hookline secrets rekey`; ' +
        'the README documents the procedure. Nothing outside the API and dispatcher roles can read it.',
    );
  }
}
