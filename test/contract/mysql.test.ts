import { mysqlInitializer } from '../support/initializers/typeorm.js';
import { describeContract } from './suite.js';

// MySQL 8 proper: runs with TEST_MYSQL_URL or Testcontainers; otherwise skipped with the reason.
describeContract(mysqlInitializer);
