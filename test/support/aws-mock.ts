import { mockClient } from 'aws-sdk-client-mock';
import { afterAll } from 'vitest';

/**
 * `mockClient` of aws-sdk-client-mock, put back after the file. The mock replaces `send` on the
 * client class's prototype, so in the unit lane, whose files share worker processes and their
 * module cache, a mock left in place answers every later file's calls of that class: the CLI's
 * local tokens table then read nothing back. Restoring in afterAll keeps each file's mocks its own.
 */
export const mockAwsClient: typeof mockClient = (client, options) => {
  const mock = mockClient(client, options);
  afterAll(() => {
    mock.restore();
  });
  return mock;
};
