import { stopEmbeddedTestServer } from './embedded-server';

export default stopEmbeddedTestServer;
