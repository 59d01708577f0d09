// Production apps read DATABASE_URL from AWS Secrets Manager (e.g. an ECS task's `secrets`), not from
// Pulumi: the app connection string is written to a secret encrypted with the database's KMS key.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

export interface AppConnectionSecretArgs {
  /** The app's connection string (secret Output). */
  databaseUrl: pulumi.Input<string>;
  /** KMS key that encrypts the secret. */
  kmsKeyArn: pulumi.Input<string>;
  /** Stack name, part of the secret's name. */
  stack: string;
}

export class AppConnectionSecret extends pulumi.ComponentResource {
  public readonly arn: pulumi.Output<string>;
  public readonly secretName: pulumi.Output<string>;

  constructor(name: string, args: AppConnectionSecretArgs, opts?: pulumi.ComponentResourceOptions) {
    super("neonhub:db:AppConnectionSecret", name, args, opts);

    const secret = new aws.secretsmanager.Secret(
      `${name}-secret`,
      {
        // A stable name, so task definitions and IAM policies can refer to it.
        name: `neonhub-db/${args.stack}/database-url`,
        description: "DATABASE_URL of the NeonHub app (PostgreSQL connection string, app role)",
        kmsKeyId: args.kmsKeyArn,
        recoveryWindowInDays: 7,
        tags: { Project: "neonhub-db", Stack: args.stack },
      },
      { parent: this },
    );
    new aws.secretsmanager.SecretVersion(
      `${name}-value`,
      { secretId: secret.id, secretString: pulumi.secret(args.databaseUrl) },
      { parent: this },
    );
    this.arn = secret.arn;
    this.secretName = secret.name;

    this.registerOutputs({ arn: this.arn, secretName: this.secretName });
  }
}
